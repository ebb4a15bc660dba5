"""Preference data: readers, binarization strategies, filters, decontamination, curation reports."""
