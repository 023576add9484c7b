"""Describe the dataset: DCAT-AP catalogue, VoID, service description, schema.org and its dates."""
