"""Settings (config.py) and the config file that fills them in (configfile.py).
No Textual: the headless commands and the session read them."""
