"""MyXTTS: voice-cloning text-to-speech training on TensorFlow/Keras that converges.

Importing the package has no side effects: no TensorFlow logging setup, no device
probing and no file writes. The command-line entry points configure those.
"""

__version__ = "0.1.0"
