"""Where the household's state is kept: sessions, devices, ..."""
