"""Plans and apply results for people (text) and machines (JSON)."""
