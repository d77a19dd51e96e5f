"""The household: people, their devices, and one assistant shared by all of them."""
