"""The household: one assistant for all the devices of all its people."""
