"""Framework catalogues shipped as package data in our own words, plus loaders of the official files.

IDs, names and links are facts taken from the frameworks; descriptions are ours. Each catalogue carries its
source, version and effective date so that every report can say which edition it used.
"""
