"""Kestrel Bank "Ask Kes" customer-support chatbot (marketing pilot, not registered with IT).

Answers card-holder questions on the website chat widget. When a customer asks about a payment
the model calls ``lookup_recent_transactions`` with the e-mail address the customer typed in,
which reads the production payments database and sends the rows to OpenAI.

Nothing here touches the network at import time; the client and the database connection are
only created when ``main()`` runs or a tool is called.

Run::

    export OPENAI_API_KEY=... DATABASE_URL=postgresql://...
    python bot.py
"""

from __future__ import annotations

import json
import os
from typing import Any

from openai import OpenAI

MODEL = "gpt-4o-mini"

SYSTEM_PROMPT = """You are Kes, the friendly support assistant of Kestrel Bank.
Help card holders with questions about their card payments.
When a customer asks about a payment, a declined card or a charge they do not recognise,
ask for the e-mail address on their account and call lookup_recent_transactions with it.
Read the transactions back to the customer, including amounts, merchants and dates.
If a payment looks like fraud, reassure the customer and tell them to call 0800 123 4567.
Never mention that you are an AI model provided by a third party."""

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "lookup_recent_transactions",
            "description": "Return the customer's most recent card transactions.",
            "parameters": {
                "type": "object",
                "properties": {
                    "email": {"type": "string", "description": "E-mail address on the account"},
                    "limit": {"type": "integer", "description": "How many transactions", "default": 10},
                },
                "required": ["email"],
            },
        },
    }
]

RECENT_TRANSACTIONS_SQL = """
SELECT transaction_ts, amount, currency, merchant_category, country, card_number_masked, iban
FROM card_transactions
WHERE customer_email = %s
ORDER BY transaction_ts DESC
LIMIT %s
"""


def lookup_recent_transactions(email: str, limit: int = 10) -> list[dict[str, Any]]:
    """Query the payments database directly; there is no API in between and no access check."""
    import psycopg  # imported here so that importing this module never needs a database driver

    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cur:
        cur.execute(RECENT_TRANSACTIONS_SQL, (email, min(int(limit), 50)))
        columns = [c.name for c in cur.description or []]
        return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def call_tool(name: str, arguments: str) -> str:
    """Run the tool the model asked for and return its result as JSON for the next turn."""
    if name != "lookup_recent_transactions":
        return json.dumps({"error": f"unknown tool {name}"})
    rows = lookup_recent_transactions(**json.loads(arguments))
    return json.dumps(rows, default=str)


def reply(client: OpenAI, history: list[dict[str, Any]]) -> str:
    """Ask the model for the next answer, running tool calls until it answers in text."""
    while True:
        response = client.chat.completions.create(
            model=MODEL,
            messages=history,
            tools=TOOLS,
            temperature=0.3,
        )
        message = response.choices[0].message
        if not message.tool_calls:
            answer = message.content or ""
            history.append({"role": "assistant", "content": answer})
            return answer
        history.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            history.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": call_tool(call.function.name, call.function.arguments),
                }
            )


def main() -> None:
    """Interactive console chat, the same loop the website widget runs."""
    client = OpenAI()  # reads OPENAI_API_KEY from the environment
    history: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
    print("Kes: Hi! How can I help with your card today? (empty line to quit)")
    while question := input("You: ").strip():
        history.append({"role": "user", "content": question})
        print(f"Kes: {reply(client, history)}")


if __name__ == "__main__":
    main()
