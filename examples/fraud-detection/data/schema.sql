-- Production payments database (PostgreSQL), schema "payments".
-- card_transactions is written by the card authorisation platform; chargebacks by the dispute
-- system. The fraud model's weekly training export joins the two (see data/README.md).

CREATE TABLE card_transactions (
    transaction_id         VARCHAR(16)    PRIMARY KEY,
    transaction_ts         TIMESTAMPTZ    NOT NULL,
    card_id                VARCHAR(16)    NOT NULL,
    -- personal data (GDPR Art. 4(1)): identifies the card holder
    customer_name          VARCHAR(200)   NOT NULL,
    customer_email         VARCHAR(320)   NOT NULL,
    date_of_birth          DATE           NOT NULL,
    iban                   VARCHAR(34)    NOT NULL,
    card_number_masked     CHAR(16)       NOT NULL,  -- first 6 + last 4 digits (PCI DSS)
    billing_postcode       VARCHAR(10),
    ip_address             INET,
    -- payment
    amount                 NUMERIC(12, 2) NOT NULL,
    currency               CHAR(3)        NOT NULL,
    merchant_id            VARCHAR(32)    NOT NULL,
    merchant_category      SMALLINT       NOT NULL,  -- ISO 18245 MCC
    country                CHAR(2)        NOT NULL,  -- merchant country, ISO 3166-1 alpha-2
    card_present           BOOLEAN        NOT NULL,
    -- features computed by the authorisation platform at payment time
    hour                   SMALLINT       NOT NULL,
    is_foreign             BOOLEAN        NOT NULL,
    distance_from_home_km  NUMERIC(8, 1),
    velocity_1h            INTEGER        NOT NULL,
    velocity_24h           INTEGER        NOT NULL,
    avg_amount_30d         NUMERIC(12, 2),
    device_risk_score      NUMERIC(5, 4),
    -- model output written back by the scoring service
    fraud_probability      DOUBLE PRECISION,
    model_version          VARCHAR(64)
);

CREATE INDEX idx_card_transactions_card_ts ON card_transactions (card_id, transaction_ts);
CREATE INDEX idx_card_transactions_email ON card_transactions (customer_email);

CREATE TABLE chargebacks (
    chargeback_id          VARCHAR(16)    PRIMARY KEY,
    transaction_id         VARCHAR(16)    NOT NULL REFERENCES card_transactions (transaction_id),
    reported_at            TIMESTAMPTZ    NOT NULL,
    reason_code            VARCHAR(8)     NOT NULL,  -- scheme reason code, e.g. Visa 10.4
    confirmed_fraud        BOOLEAN        NOT NULL DEFAULT FALSE,
    reported_by            VARCHAR(32)    NOT NULL   -- cardholder, issuer, partner bank
);
