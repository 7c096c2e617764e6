"""The portal's brand colour: the "#rrggbb" check, WCAG 2.2 relative luminance and contrast ratio,
and the text colour that goes on the brand colour (white or near-black, whichever contrasts more).

The portal puts text on the colour (its header band, its buttons), so a colour on which neither
text colour reaches 4.5:1 (WCAG AA for normal text) is not usable. Pure black would reach 4.5:1 on
every colour; the near-black the portal writes with does not, so a narrow band of mid-tones (grey
#777777, for one) is refused."""

import re
from typing import NamedTuple

WHITE = "#ffffff"
NEAR_BLACK = "#111111"
MIN_CONTRAST = 4.5
# What the portal looks like without a brand colour: app.css's --primary-dark, its header band.
DEFAULT_COLOR = "#1e3a8a"

_HEX = re.compile(r"#[0-9a-f]{6}")


class TextColor(NamedTuple):
    color: str  # WHITE or NEAR_BLACK
    ratio: float  # its contrast ratio with the background


def normalize(value: str | None) -> str | None:
    """``value`` as "#rrggbb" in lower case (surrounding spaces ignored), or None if it is not one."""
    value = (value or "").strip().lower()
    return value if _HEX.fullmatch(value) else None


def _channel(byte: int) -> float:
    # sRGB to linear light, as WCAG 2.2 defines it (with the sRGB standard's 0.04045 threshold).
    c = byte / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of a "#rrggbb" colour: 0 for black, 1 for white."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two "#rrggbb" colours, from 1 (the same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_color(background: str) -> TextColor:
    """The text colour with the higher contrast on ``background`` (white on a tie)."""
    on_white, on_black = contrast_ratio(background, WHITE), contrast_ratio(background, NEAR_BLACK)
    return TextColor(WHITE, on_white) if on_white >= on_black else TextColor(NEAR_BLACK, on_black)


def readable(background: str) -> bool:
    return text_color(background).ratio >= MIN_CONTRAST


def floor_ratio(ratio: float) -> str:
    """A ratio for people, rounded down to two decimals: 4.496 reads "4.49", never "4.50", next
    to a refusal for being under 4.5."""
    return f"{int(ratio * 100) / 100:.2f}"


def stylesheet(color: str) -> str:
    """The portal's per-workspace CSS: the brand colour, the text colour on it, and the colour for
    links (on the white page) when the brand colour also reads as text on white; without it links
    keep the standard blue. ``color`` must be normalised (the caller checks)."""
    text = text_color(color).color
    rules = [f"--brand:{color}", f"--brand-text:{text}"]
    if contrast_ratio(color, WHITE) >= MIN_CONTRAST:
        rules.append(f"--brand-link:{color}")
    return ":root{" + ";".join(rules) + "}\n"
