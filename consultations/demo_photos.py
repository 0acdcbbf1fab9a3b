"""Stand-in clinical photos for the demo clinic: abstract face-like drawings, never real faces.

The drawing is made at a quarter of the size, softened and scaled up, which
keeps each photo well under a tenth of a second.
"""

import io
import random

from PIL import Image, ImageDraw, ImageFilter

from consultations.models import PhotoStage, PhotoView

WIDTH, HEIGHT = 1200, 1600
SCALE = 4  # drawn at 300 x 400, then scaled up

# How far the face turns for each view: 0 is frontal, ±1 a full profile.
TURN: dict[str, float] = {
    PhotoView.FRONTAL: 0.0,
    PhotoView.LEFT_OBLIQUE: -0.5,
    PhotoView.RIGHT_OBLIQUE: 0.5,
    PhotoView.LEFT_PROFILE: -1.0,
    PhotoView.RIGHT_PROFILE: 1.0,
    PhotoView.OTHER: 0.2,
}

# A later stage shows a slightly tighter jawline: the point of the comparison.
LIFT: dict[str, int] = {
    PhotoStage.BASELINE: 0,
    PhotoStage.IMMEDIATE: 5,
    PhotoStage.TWO_WEEKS: 4,
    PhotoStage.THREE_MONTHS: 6,
    PhotoStage.SIX_MONTHS: 5,
    PhotoStage.OTHER: 2,
}


def demo_photo_jpeg(*, seed: int, view: str, stage: str) -> bytes:
    """A 1200 x 1600 JPEG of an abstract face for the given view and stage.

    The same seed gives the same "patient" (skin tone, hair, backdrop) in every
    view and stage.
    """
    rng = random.Random(seed)
    turn = TURN.get(view, 0.0)
    lift = LIFT.get(stage, 0)
    w, h = WIDTH // SCALE, HEIGHT // SCALE

    backdrop = tuple(rng.randint(170, 215) for _ in range(3))
    skin = (rng.randint(150, 235), rng.randint(110, 190), rng.randint(90, 160))
    shadow = tuple(max(0, c - 45) for c in skin)
    hair = tuple(rng.randint(20, 110) for _ in range(3))
    eye = (40, 35, 35)

    image = Image.new("RGB", (w, h), backdrop)
    draw = ImageDraw.Draw(image)

    cx = w // 2 + int(turn * 25)
    face_w = int(150 - abs(turn) * 40)
    top, bottom = 70, 330 - lift
    # Neck, then the face's shadow side, then the face itself slightly offset.
    draw.rectangle((cx - 40, 280, cx + 40, h), fill=shadow)
    draw.ellipse((cx - face_w // 2, top, cx + face_w // 2, bottom), fill=shadow)
    offset = int(-turn * 10) - 4
    draw.ellipse(
        (cx - face_w // 2 + 6 + offset, top + 4, cx + face_w // 2 - 6 + offset, bottom - 6),
        fill=skin,
    )
    # Hair as a cap over the top of the head.
    draw.chord((cx - face_w // 2 - 8, top - 20, cx + face_w // 2 + 8, top + 120), 180, 360, hair)

    # Features move towards the side the face turns to; a profile shows one eye.
    features_x = cx + int(turn * face_w * 0.35)
    eye_y = top + 115
    spacing = int(32 * (1 - abs(turn) * 0.6))
    eyes = [features_x] if abs(turn) >= 1 else [features_x - spacing, features_x + spacing]
    for x in eyes:
        draw.ellipse((x - 10, eye_y - 5, x + 10, eye_y + 5), fill=(245, 245, 240))
        draw.ellipse((x - 4, eye_y - 4, x + 4, eye_y + 4), fill=eye)
        draw.arc((x - 14, eye_y - 18, x + 14, eye_y - 4), 200, 340, fill=hair, width=3)
    nose_x = features_x + int(turn * 18)
    draw.line((features_x, eye_y + 5, nose_x, eye_y + 50, features_x, eye_y + 55), shadow, 3)
    mouth_y = eye_y + 85 - lift // 2
    mouth = int(28 * (1 - abs(turn) * 0.5))
    draw.arc(
        (features_x - mouth, mouth_y - 12, features_x + mouth, mouth_y + 8), 20, 160, shadow, 3
    )
    # Marionette shading that fades with the lift.
    fold = max(0, 40 - lift * 5)
    for side in (-1, 1):
        x = features_x + side * (mouth + 8)
        draw.line((x, mouth_y, x + side * 6, mouth_y + fold), shadow, 2)

    image = image.filter(ImageFilter.GaussianBlur(1.2))
    image = image.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
