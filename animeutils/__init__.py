"""animeutils: the reusable code behind the anime-face DCGAN notebooks.

Modules are imported on demand (``from animeutils import data``) so that importing the package
stays cheap, e.g. for the image-decoding threads.
"""

__version__ = "0.1.0"
