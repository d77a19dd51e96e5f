"""Scene marketing: brand campaigns offered in the right scene, capped per person,
measured per brand."""
