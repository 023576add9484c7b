"""Describe the dataset: statistics, DCAT-AP catalogue, VoID, service description and its dates."""
