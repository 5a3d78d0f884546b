"""Text as it is shown: numbers.py (plain, for the headless commands too) and
format.py (rich Text cells for the screens). No Textual."""
