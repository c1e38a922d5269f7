"""Generate synthetic card-payment transactions for the Kestrel Bank fraud-detection example.

The real training set is an export of the production ``card_transactions`` table joined with
chargeback outcomes (see ``data/README.md``).  That export holds personal data, so the example
ships this generator instead: it reproduces the same columns, the same ~1.5 % fraud rate and
the usual fraud signals (card-not-present, foreign, night-time, high velocity, risky merchant
categories) without describing any real person.  A share of the fraud deliberately mimics
normal spending, so the model cannot be perfect, just as in production.

Usage::

    python data/generate_transactions.py --rows 50000 --seed 7 --out data/transactions.csv
"""

from __future__ import annotations

import argparse
import csv
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

COLUMNS: list[str] = [
    "transaction_id",
    "transaction_ts",
    "card_id",
    "customer_email",
    "iban",
    "card_number_masked",
    "amount",
    "currency",
    "merchant_category",
    "country",
    "hour",
    "is_foreign",
    "card_present",
    "distance_from_home_km",
    "velocity_1h",
    "velocity_24h",
    "avg_amount_30d",
    "device_risk_score",
    "is_fraud",
    "chargeback_reported",
]

# ISO 18245 merchant category codes with (share of legitimate spend, share of fraud).
# Fraudsters favour goods that resell easily and cash-like merchants.
MCC_WEIGHTS: dict[int, tuple[float, float]] = {
    5411: (0.22, 0.02),  # grocery stores
    5812: (0.12, 0.02),  # restaurants
    5814: (0.10, 0.02),  # fast food
    5541: (0.08, 0.03),  # fuel
    5311: (0.06, 0.04),  # department stores
    5912: (0.05, 0.01),  # pharmacies
    4111: (0.06, 0.01),  # local transport
    4121: (0.04, 0.02),  # taxis / ride hailing
    5999: (0.08, 0.08),  # miscellaneous retail
    5815: (0.06, 0.10),  # digital goods
    7011: (0.03, 0.04),  # hotels
    4511: (0.03, 0.06),  # airlines
    5732: (0.03, 0.16),  # electronics
    5944: (0.01, 0.09),  # jewellery
    5967: (0.01, 0.09),  # direct marketing / inbound telemarketing
    4829: (0.01, 0.08),  # money transfer
    6051: (0.005, 0.09),  # quasi-cash, crypto
    7995: (0.005, 0.05),  # gambling
}

HOME_COUNTRIES: dict[str, float] = {"DE": 0.70, "AT": 0.10, "NL": 0.10, "FR": 0.10}
FOREIGN_COUNTRIES: list[str] = ["ES", "IT", "GB", "PL", "US", "TR", "RO", "BR", "NG", "TH"]
CURRENCY: dict[str, str] = {
    "DE": "EUR", "AT": "EUR", "NL": "EUR", "FR": "EUR", "ES": "EUR", "IT": "EUR",
    "GB": "GBP", "PL": "PLN", "US": "USD", "TR": "TRY", "RO": "RON", "BR": "BRL",
    "NG": "NGN", "TH": "THB",
}  # fmt: skip

# Legitimate hourly activity peaks at lunch and early evening; fraud is flatter with a night bump.
LEGIT_HOURS = np.array([1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 8, 9, 10, 9, 8, 8, 9, 10, 10, 9, 7, 5, 3, 2], float)
FRAUD_HOURS = np.array([6, 7, 7, 7, 6, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 6], float)

BANK_CODE = "51230800"  # fictional Kestrel Bank AG sort code
CARD_BINS = ["411111", "555555"]  # well-known test BINs, never real cards
START = datetime(2025, 1, 1)
DAYS = 90


def german_iban(account: int) -> str:
    """Build a checksum-valid German IBAN so PII scanners see a realistic value."""
    bban = f"{BANK_CODE}{account:010d}"
    check = 98 - int(f"{bban}131400") % 97  # "DE" -> 13 14, placeholder check digits 00
    return f"DE{check:02d}{bban}"


def generate(rows: int, seed: int, fraud_rate: float = 0.015) -> list[dict[str, object]]:
    """Return ``rows`` synthetic transactions, sorted by time, reproducible for a given seed."""
    rng = np.random.default_rng(seed)

    # --- card holders -------------------------------------------------------------------
    n_cards = max(200, rows // 10)
    home = rng.choice(list(HOME_COUNTRIES), size=n_cards, p=list(HOME_COUNTRIES.values()))
    typical_spend = rng.lognormal(np.log(45.0), 0.6, size=n_cards)
    accounts = rng.choice(10**10, size=n_cards, replace=False)
    last4 = rng.integers(0, 10_000, size=n_cards)
    bins = rng.choice(CARD_BINS, size=n_cards)
    activity = rng.gamma(1.5, 1.0, size=n_cards)  # some cards are used far more than others

    # --- transactions -------------------------------------------------------------------
    card = rng.choice(n_cards, size=rows, p=activity / activity.sum())
    is_fraud = rng.random(rows) < fraud_rate
    # About a fifth of fraud is "low and slow": it copies normal behaviour to evade detection,
    # and only a slightly riskier device fingerprint gives it away.
    pattern = is_fraud & (rng.random(rows) >= 0.20)
    low_and_slow = is_fraud & ~pattern

    def pick(legit: np.ndarray, fraud: np.ndarray) -> np.ndarray:
        return np.where(pattern, fraud, legit)

    mcc_codes = np.array(list(MCC_WEIGHTS))
    legit_w = np.array([w[0] for w in MCC_WEIGHTS.values()])
    fraud_w = np.array([w[1] for w in MCC_WEIGHTS.values()])
    mcc = pick(
        rng.choice(mcc_codes, size=rows, p=legit_w / legit_w.sum()),
        rng.choice(mcc_codes, size=rows, p=fraud_w / fraud_w.sum()),
    )
    hour = pick(
        rng.choice(24, size=rows, p=LEGIT_HOURS / LEGIT_HOURS.sum()),
        rng.choice(24, size=rows, p=FRAUD_HOURS / FRAUD_HOURS.sum()),
    )
    card_present = pick(rng.random(rows) < 0.70, rng.random(rows) < 0.15)
    is_foreign = pick(rng.random(rows) < 0.06, rng.random(rows) < 0.45)
    country = np.where(is_foreign, rng.choice(FOREIGN_COUNTRIES, size=rows), home[card])
    distance = np.where(
        is_foreign,
        rng.lognormal(np.log(900.0), 0.8, size=rows),
        pick(rng.lognormal(np.log(8.0), 1.0, size=rows), rng.lognormal(np.log(35.0), 1.3, size=rows)),
    )
    spend = typical_spend[card]
    amount = pick(rng.lognormal(np.log(spend), 0.8), rng.lognormal(np.log(spend * 2.5), 1.0))
    amount = np.clip(amount, 0.5, 15_000.0)
    avg_30d = spend * rng.lognormal(0.0, 0.1, size=rows)
    velocity_1h = pick(rng.poisson(0.3, size=rows), rng.poisson(2.0, size=rows))
    velocity_24h = velocity_1h + pick(rng.poisson(2.5, size=rows), rng.poisson(5.0, size=rows))
    device_risk = pick(rng.beta(2.0, 8.0, size=rows), rng.beta(4.0, 4.0, size=rows))
    device_risk = np.where(low_and_slow, rng.beta(3.0, 6.0, size=rows), device_risk)
    # Labels arrive through chargebacks: most fraud is charged back, a few legit payments are
    # disputed too ("friendly fraud"), and fraud ops confirm ``is_fraud`` after investigation.
    chargeback = np.where(is_fraud, rng.random(rows) < 0.88, rng.random(rows) < 0.002)

    day = rng.integers(0, DAYS, size=rows)
    second = rng.integers(0, 3600, size=rows)
    offset = day * 86_400 + hour * 3600 + second
    order = np.argsort(offset, kind="stable")

    records: list[dict[str, object]] = []
    for seq, i in enumerate(order, start=1):
        c = int(card[i])
        records.append(
            {
                "transaction_id": f"TX{seq:010d}",
                "transaction_ts": (START + timedelta(seconds=int(offset[i]))).isoformat(),
                "card_id": f"C{c:08d}",
                "customer_email": f"user{c}@example.com",
                "iban": german_iban(int(accounts[c])),
                "card_number_masked": f"{bins[c]}******{int(last4[c]):04d}",
                "amount": round(float(amount[i]), 2),
                "currency": CURRENCY[str(country[i])],
                "merchant_category": int(mcc[i]),
                "country": str(country[i]),
                "hour": int(hour[i]),
                "is_foreign": int(is_foreign[i]),
                "card_present": int(card_present[i]),
                "distance_from_home_km": round(float(distance[i]), 1),
                "velocity_1h": int(velocity_1h[i]),
                "velocity_24h": int(velocity_24h[i]),
                "avg_amount_30d": round(float(avg_30d[i]), 2),
                "device_risk_score": round(float(device_risk[i]), 4),
                "is_fraud": int(is_fraud[i]),
                "chargeback_reported": int(chargeback[i]),
            }
        )
    return records


def write_csv(records: list[dict[str, object]], out: Path) -> None:
    """Write the records with a header row, creating the parent folder if needed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(records)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, generate the data set and print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="number of transactions")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same file)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "transactions.csv",
        help="CSV file to write",
    )
    args = parser.parse_args(argv)
    if args.rows <= 0:
        parser.error("--rows must be positive")

    records = generate(args.rows, args.seed)
    write_csv(records, args.out)
    frauds = sum(1 for r in records if r["is_fraud"] == 1)
    print(f"wrote {len(records)} transactions ({frauds} fraud, {frauds / len(records):.2%}) to {args.out}")


if __name__ == "__main__":
    main()
