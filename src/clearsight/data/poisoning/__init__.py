"""Poisoning detection: signals that each make a case against rows, combined into one ranked list."""
