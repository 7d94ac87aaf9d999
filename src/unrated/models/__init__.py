"""The recommendation models and the contract they share."""
