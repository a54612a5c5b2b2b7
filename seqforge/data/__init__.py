"""Reading text, tokenizing, vocabularies and data modules."""
