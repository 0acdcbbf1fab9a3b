"""Patients, booking and consultations; models arrive with their issues."""
