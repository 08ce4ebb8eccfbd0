"""The English companion: the translation memory, assembling companions, and the services reached through deep-translator.
"""
