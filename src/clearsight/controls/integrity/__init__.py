"""Model integrity: sign model folders and files, and verify them, with the OpenSSF ``model-signing`` library."""
