"""Products, plans, sessions and consent; models arrive with their issues."""
