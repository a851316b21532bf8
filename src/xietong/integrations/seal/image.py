"""A unit's seal image: a red ring and five-pointed star on a transparent ground, as PNG (Pillow).

The unit's name is not drawn into the image — no font ships with us that Pillow could use — but it is in the
seal information next to the image, and the document itself names the unit right under the stamp.
"""

from __future__ import annotations

import math
from io import BytesIO

from PIL import Image, ImageDraw

SIZE = 400
RED = (220, 20, 30, 235)


def seal_png() -> bytes:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    margin, ring = 12, 22
    draw.ellipse((margin, margin, SIZE - margin, SIZE - margin), outline=RED, width=ring)
    centre, outer, inner = SIZE / 2, SIZE * 0.2, SIZE * 0.2 * 0.382
    star = [
        (centre + (outer if i % 2 == 0 else inner) * math.sin(i * math.pi / 5),
         centre - (outer if i % 2 == 0 else inner) * math.cos(i * math.pi / 5))
        for i in range(10)
    ]
    draw.polygon(star, fill=RED)
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
