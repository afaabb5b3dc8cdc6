"""What the image tasks share: reading images and their sources, backbones, Grad-CAM, image figures.
Imports only `core`."""
