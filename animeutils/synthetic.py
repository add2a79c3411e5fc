"""Procedural anime faces: a built-in stand-in for the Kaggle Anime Face Dataset.

Used when there is no network. Each image is a handful of random *factors* (table below) drawn
by :func:`sample_factors`; :func:`render` draws a whole batch at once. Every image's pixel grid
is moved into head space (shift, scale, tilt), shapes there are approximate signed distance
fields (SDFs, negative inside) of ellipses and zigzag edges, a one-pixel ramp turns distance into
coverage (antialiasing at any resolution), and layers are painted back to front: background,
back hair, neck, face, blush, mouth, brows, eyes, fringe, hair gloss. :func:`generate` does both.

Planted flaws mimic the real set's reported problems, with ground truth in ``flaw``/``dup_of``:
1 badly cropped (zoomed, shifted partly out of frame), 2 not a face (stripes, rings, blobs),
3 near-duplicate of an earlier normal image (same factors, 1-px shift or ±3 % brightness).

Image i depends only on (seed, i, image_size): factors come in fixed chunks of 256 from a
generator seeded by (seed, chunk), and per-pixel maths uses only exactly rounded operations
(+ - * / sqrt, min/max, floor; no lerp, exp or sin), so no batch size changes a byte.

==================  ===========  ===========================================================
factor              range        meaning
==================  ===========  ===========================================================
hair_palette        int 0-11     index into ``HAIR_COLOURS`` (black, brown, blonde, pink, ...)
hair_color          [0, 1]^3     RGB drawn: the palette colour with brightness/channel jitter
hair_length         [0, 1]       0 short (ear level), ~0.35 to the chin, 1 past the shoulders
fringe_strands      int 3-7      pointed strands across the bangs
fringe_length       [0, 1]       how low the bangs reach (0 high forehead, 1 the eyebrows)
strand_depth        [0, 1]       how deep the notches between strands are
fringe_phase        [0, 1)       sideways offset of the strands
ahoge, side_tails   0 / 1        a strand sticking up from the crown; twin tails
eye_palette         int 0-7      index into ``EYE_COLOURS``
eye_color           [0, 1]^3     iris RGB (palette colour with jitter)
eye_size            [0, 1]       0 large ... 1 huge
skin_tone           [0, 1]       0 pale ... 1 tanned (skewed towards pale)
mouth               int 0-2      0 closed smile, 1 open, 2 small line
blush               [0, 1]       cheek blush strength (0 for about half the faces)
head_x              ±0.1         head centre, in half-image units (more if cropped)
head_y              0.02-0.16    the same, downwards
head_scale          0.58-0.7     centre-to-chin distance in half images (x1.6-2.4 if cropped)
head_tilt           ±0.3         rotation in radians
bg_hue, bg_angle    [0, 1), rad  background gradient hue and direction
brightness          1 (±0.03)    overall multiplier; differs from 1 only for near-duplicates
flaw                int 0-3      0 normal, 1 bad crop, 2 not a face, 3 near-duplicate
dup_of              int          index of the duplicated image when flaw == 3, else -1
==================  ===========  ===========================================================

For ``flaw == 2`` the face factors parametrise the abstract picture instead (``mouth`` picks
stripes / rings / blobs only, ``hair_color`` and ``eye_color`` its colours, ``head_*`` layout).
"""

from __future__ import annotations

import hashlib
import math
from numbers import Integral

import torch

GENERATOR_VERSION = 1  # bump whenever pictures or factors change, so caches are rebuilt
DEFAULT_FLAW_RATES = (0.015, 0.01, 0.01)  # bad crop, not a face, near-duplicate
MIN_IMAGE_SIZE = 16
_CHUNK = 256  # factors are drawn in chunks this big, whatever n is
_PIXELS = 131072  # pixels per internal batch: fastest measured, its working set stays in cache
_FEATURES_BOX = (-0.7, 0.7, -0.25, 0.8)  # head-space u0, u1, v0, v1 holding brows to mouth

_HAIR = {
    "black": (0.13, 0.12, 0.16), "dark brown": (0.30, 0.19, 0.13), "brown": (0.55, 0.35, 0.22),
    "blonde": (0.97, 0.85, 0.50), "orange": (0.96, 0.55, 0.24), "red": (0.78, 0.15, 0.17),
    "pink": (0.98, 0.62, 0.76), "blue": (0.24, 0.38, 0.82), "light blue": (0.56, 0.78, 0.96),
    "silver": (0.80, 0.82, 0.88), "green": (0.32, 0.66, 0.42), "purple": (0.55, 0.36, 0.78),
}
_EYES = {
    "blue": (0.20, 0.45, 0.95), "green": (0.20, 0.70, 0.35), "red": (0.85, 0.15, 0.20),
    "brown": (0.55, 0.32, 0.15), "purple": (0.60, 0.30, 0.85), "gold": (0.95, 0.70, 0.15),
    "teal": (0.10, 0.70, 0.70), "pink": (0.95, 0.40, 0.65),
}
# Per mouth kind (smile, open, line): centre v, radii u/v, o, t, cut line, RGB (see _features).
_MOUTHS = torch.tensor([
    [0.55, 0.13, 0.13, 0.0, 0.022, 0.62, 0.45, 0.2, 0.2],
    [0.61, 0.1, 0.1, 0.3, 0.3, 0.62, 0.72, 0.24, 0.27],
    [0.7, 0.075, 0.02, 0.3, 0.3, -9.0, 0.45, 0.2, 0.2],
])
_WHITE, _LASH, _BLUSH = torch.ones(3), torch.tensor([0.12, 0.08, 0.1]), torch.tensor([1, 0.5, 0.55])
_PALE, _TAN = torch.tensor([1.0, 0.9, 0.84]), torch.tensor([0.84, 0.62, 0.48])
HAIR_COLOURS, EYE_COLOURS = tuple(_HAIR), tuple(_EYES)
FACTOR_NAMES = (
    "hair_palette", "hair_color", "hair_length", "fringe_strands", "fringe_length",
    "strand_depth", "fringe_phase", "ahoge", "side_tails", "eye_palette", "eye_color",
    "eye_size", "skin_tone", "mouth", "blush", "head_x", "head_y", "head_scale", "head_tilt",
    "bg_hue", "bg_angle", "brightness", "flaw", "dup_of",
)
_LOOKS = FACTOR_NAMES[:-3]  # what a near-duplicate copies from its original


def _check(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def _chunk_seed(seed: int, chunk: int) -> int:
    # A hash rather than seed * K + chunk, so that no two (seed, chunk) pairs collide.
    digest = hashlib.blake2b(f"animeutils.synthetic:{seed}:{chunk}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "little") >> 1


def _sample_chunk(seed: int, chunk: int, rates: tuple[float, float, float]) -> dict:
    g = torch.Generator().manual_seed(_chunk_seed(seed, chunk))
    n = _CHUNK

    def uni(lo=0.0, hi=1.0, *shape):
        return lo + (hi - lo) * torch.rand(n, *shape, generator=g)

    def pick(k):
        return torch.randint(k, (n,), generator=g)

    hair, eyes = pick(len(_HAIR)), pick(len(_EYES))
    f = {"hair_palette": hair, "eye_palette": eyes}
    f["hair_color"] = (torch.tensor(list(_HAIR.values()))[hair] * uni(0.85, 1.1, 1)
                       + uni(-0.05, 0.05, 3)).clamp(0, 1)
    f["eye_color"] = (torch.tensor(list(_EYES.values()))[eyes] + uni(-0.08, 0.08, 3)).clamp(0, 1)
    f["hair_length"], f["fringe_length"], f["strand_depth"] = uni(), uni(), uni()
    f["fringe_strands"], f["fringe_phase"] = pick(5) + 3, uni()
    f["ahoge"], f["side_tails"] = (uni() < 0.25).long(), (uni() < 0.2).long()
    f["eye_size"], f["skin_tone"], f["mouth"] = uni(), uni() ** 2, pick(3)
    f["blush"] = uni() * (uni() < 0.5)
    f["head_x"], f["head_y"] = uni(-0.1, 0.1), uni(0.02, 0.16)
    f["head_scale"], f["head_tilt"] = uni(0.58, 0.7), uni(-0.3, 0.3)
    f["bg_hue"], f["bg_angle"] = uni(), uni(0, 2 * math.pi)
    f["brightness"] = torch.ones(n)
    # Flaw randomness is drawn even with flaws off, so the other faces stay the same either way.
    roll, zoom, angle, dist = uni(), uni(1.6, 2.4), uni(0, 2 * math.pi), uni(0.35, 0.7)
    which, kind, sign = uni(), uni(), pick(2) * 2 - 1
    edges = torch.tensor(rates).cumsum(0)
    flaw = torch.where(roll < edges[0], 1, torch.where(roll < edges[1], 2, 0))
    f["flaw"] = torch.where((roll >= edges[1]) & (roll < edges[2]), 3, flaw)
    f["dup_of"] = torch.full((n,), -1)

    crop = f["flaw"] == 1
    f["head_scale"][crop] *= zoom[crop]
    f["head_x"][crop] += dist[crop] * angle[crop].cos()
    f["head_y"][crop] += dist[crop] * angle[crop].sin()
    for i in (f["flaw"] == 3).nonzero().flatten().tolist():
        # The original comes from earlier in the same chunk, so a prefix never points past n.
        originals = (f["flaw"][:i] == 0).nonzero().flatten()
        if len(originals) == 0:
            f["flaw"][i] = 0
            continue
        j = int(originals[int(which[i] * len(originals))])
        for name in _LOOKS:
            f[name][i] = f[name][j]
        f["dup_of"][i] = chunk * _CHUNK + j
        if kind[i] < 0.5:  # one pixel at 64 px (a 64th of the width at any size)
            f["head_x"][i] += sign[i] / 32
        else:
            f["brightness"][i] = 1 + 0.03 * sign[i]
    return f


@torch.no_grad()
def sample_factors(n: int, seed: int = 0, flaws: bool = True,
                   flaw_rates: tuple[float, float, float] = DEFAULT_FLAW_RATES) -> dict:
    """Factors of images 0..n-1 of the set ``seed``: a dict of tensors with leading dim n.

    ``flaws=False`` plants no flaws; ``flaw_rates`` sets the (bad crop, not a face,
    near-duplicate) rates otherwise.
    """
    _check("n", n, 0)
    _check("seed", seed, 0)
    if len(flaw_rates) != 3 or min(flaw_rates) < 0 or sum(flaw_rates) > 1:
        raise ValueError(f"flaw_rates must be 3 rates >= 0 with sum <= 1, got {flaw_rates!r}")
    rates = tuple(float(r) for r in flaw_rates) if flaws else (0.0, 0.0, 0.0)
    chunks = [_sample_chunk(seed, c, rates) for c in range(max(1, -(-n // _CHUNK)))]
    return {k: torch.cat([c[k] for c in chunks])[:n] for k in FACTOR_NAMES}


def _hsv(h, s: float, v: float):
    """HSV to RGB, (n,) hues to (n, 3); per image, in float64 (see _pose)."""
    k = (torch.tensor([5.0, 3.0, 1.0], dtype=torch.float64) + h[:, None] * 6) % 6
    return (v - v * s * torch.minimum(k, 4 - k).clamp(0, 1)).float()


def _ellipse(u, v, cx, cy, rx, ry):
    """Approximate SDF of an axis-aligned ellipse: exact on the edge, close near it."""
    du, dv = (u - cx).div_(rx), (v - cy).div_(ry)
    return (du.mul_(du) + dv.mul_(dv)).sqrt_().sub_(1).mul_(2 * rx * ry / (rx + ry))


def _frac(t):
    return t - t.floor()  # not t % 1, to keep to exactly rounded operations


def _zigzag(t):
    """Triangle wave: 0 at integers, 1 half-way between (pointed strands from an edge)."""
    return 1 - 2 * (_frac(t) - 0.5).abs()


def _cover(sdf, px):
    """Fraction of each pixel inside the shape: a linear ramp one pixel (px) wide."""
    return (sdf / -px).add_(0.5).clamp_(0, 1)


def _paint(img, alpha, rgb):
    """Paint a layer of colour rgb ((n, 3) or (3,)) with per-pixel alpha over img."""
    rgb = rgb.reshape(-1, 3, 1, 1)
    img.sub_((img - rgb).mul_(alpha.unsqueeze(1)))  # img - rgb: rgb - img broadcasts 5x slower


def _pose(f, x, y, size):
    """Head-space coordinates (u right, v down, chin at v = 1) of pixel centres x (., 1, w) and
    y (., h, 1), and the pixel size there. Per-image trigonometry runs in float64: float32 sin
    can differ in the last bit between vectorised and scalar code, i.e. between batch sizes."""
    s, t = f["head_scale"].double(), f["head_tilt"].double()
    cos, sin = (t.cos() / s).float().view(-1, 1, 1), (t.sin() / s).float().view(-1, 1, 1)
    dx, dy = x - f["head_x"].float().view(-1, 1, 1), y - f["head_y"].float().view(-1, 1, 1)
    return dx * cos + dy * sin, dy * cos - dx * sin, (2 / size / s).float().view(-1, 1, 1)


def _window(f, size):
    """Rows (n, h) and columns (n, w) of per-image pixel windows around _FEATURES_BOX.

    The small features are drawn only there, a third to a half of the pixels. Outside it their
    coverage is exactly 0, so the result is the same as drawing them everywhere.
    """
    s, t = f["head_scale"].double()[:, None], f["head_tilt"].double()[:, None]
    u0, u1, v0, v1 = _FEATURES_BOX
    u = torch.tensor([u0, u1, u0, u1], dtype=torch.float64)
    v = torch.tensor([v0, v0, v1, v1], dtype=torch.float64)
    out = []
    for centre, along in ((f["head_y"], u * t.sin() + v * t.cos()),
                          (f["head_x"], u * t.cos() - v * t.sin())):
        corner = (centre.double()[:, None] + s * along + 1) * (size / 2)  # in pixels
        lo, hi = corner.min(1).values.floor() - 4, corner.max(1).values.ceil() + 4  # + ramps
        span = int(min(size, (hi - lo).max()))  # one window size for the whole batch
        out.append(lo.clamp(0, size - span).long()[:, None] + torch.arange(span))
    return out


def _background(img, f, grid):
    a = f["bg_angle"].double()
    t = (grid.view(1, 1, -1) * a.cos().float().view(-1, 1, 1)
         + grid.view(1, -1, 1) * a.sin().float().view(-1, 1, 1)).mul_(0.35).add_(0.5)
    img.copy_(_hsv(f["bg_hue"].double(), 0.2, 0.97).view(-1, 3, 1, 1))
    _paint(img, t, _hsv(f["bg_hue"].double() + 0.06, 0.45, 0.8))


def _features(img, f, p, x, y, size):
    """Blush, mouth, brows and eyes, painted onto windows img with pixel centres x, y."""
    u, v, px = _pose(f, x, y, size)
    au = u.abs()  # mirrored: one SDF draws both cheeks, brows and eyes
    hair, iris_rgb = f["hair_color"].float(), f["eye_color"].float()
    cheeks = _ellipse(au, v, 0.47, 0.52, 0.15, 0.07)
    _paint(img, _cover(cheeks, 6 * px).mul_(0.5 * p["blush"]), _BLUSH)

    # One SDF for every mouth: |ellipse + o| - t is a ring (o = 0) or filled (o = t >= radii),
    # kept below a cut line (smile, open mouth) or not (line).
    m = _MOUTHS[f["mouth"]].view(-1, 9, 1, 1)
    ring = _ellipse(u, v, 0, m[:, 0], m[:, 1], m[:, 2]).add_(m[:, 3]).abs_().sub_(m[:, 4])
    _paint(img, _cover(torch.maximum(ring, m[:, 5] - v), px), m[:, 6:, 0, 0])

    # Eyes: mx is mirrored (outer corner positive) for shapes, lx unmirrored so that both
    # highlights sit on the same side, as if lit by one light.
    es = 0.85 + 0.45 * p["eye_size"]
    ew, eh = 0.17 * es, 0.23 * es
    mx, ly = au - 0.36, v - 0.2
    lx = torch.where(u < 0, -mx, mx)
    lid = 0.9 * mx * mx - 0.7 * eh  # upper lid line, dipping at the corners
    brow = _ellipse(mx, ly, 0, 0.1 - 0.7 * eh, 0.24, 0.22).abs_().sub_(0.02)
    brow = torch.maximum(brow, torch.maximum(ly + 0.8 * eh + 0.05, mx.abs() - 0.17))
    _paint(img, _cover(brow, px), hair * 0.55)
    white = torch.maximum(_ellipse(mx, ly, 0, 0, ew, eh), lid - ly)
    _paint(img, _cover(white, px), _WHITE)
    iris = torch.maximum(_ellipse(mx, ly, 0, 0.06 * eh, 0.72 * ew, 0.92 * eh), white)
    _paint(img, _cover(iris, px), iris_rgb * 0.55)
    lower = torch.maximum(_ellipse(mx, ly, 0, 0.35 * eh, 0.6 * ew, 0.6 * eh), iris)
    _paint(img, _cover(lower, 2 * px), (iris_rgb * 1.25).clamp(0, 1))  # lit lower iris
    pupil = _ellipse(mx, ly, 0, 0.12 * eh, 0.3 * ew, 0.45 * eh)
    _paint(img, _cover(pupil, px), iris_rgb * 0.2)
    shine = torch.minimum(_ellipse(lx, ly, -0.3 * ew, -0.3 * eh, 0.22 * ew, 0.22 * ew),
                          _ellipse(lx, ly, 0.3 * ew, 0.45 * eh, 0.1 * ew, 0.1 * ew))
    _paint(img, _cover(shine, px), _WHITE)
    lash = torch.maximum((ly - lid + 0.035).abs() - 0.045, (mx - 0.02).abs() - 1.15 * ew)
    _paint(img, _cover(lash, px), _LASH)


def _face(img, f, grid):
    u, v, px = _pose(f, grid.view(1, 1, -1), grid.view(1, -1, 1), len(grid))
    au = u.abs()
    p = {k: f[k].float().view(-1, 1, 1) for k in FACTOR_NAMES if f[k].dim() == 1}
    hair = f["hair_color"].float()
    skin = _PALE + f["skin_tone"].float()[:, None] * (_TAN - _PALE)

    # Back hair, darker than the front: cap, curtain down to hair_length, optional tails.
    bottom = 0.1 + 2.6 * p["hair_length"] - 0.18 * _zigzag(u * 3.5)
    curtain = torch.maximum(au - 1.0 - 0.15 * v.clamp(min=0), torch.maximum(v - bottom, -v))
    back = torch.minimum(_ellipse(u, v, 0, -0.25, 1.05, 1.05), curtain)
    tails = _ellipse(au, v, 1.15, 0.55, 0.3, 1.1) + 9 * (1 - p["side_tails"])
    _paint(img, _cover(torch.minimum(back, tails), px), hair * 0.72)

    neck = torch.maximum(au - 0.26, (v - 1.2).abs() - 0.6)
    _paint(img, _cover(neck, px), skin * 0.8)
    chin = 0.84 - 0.32 * v.clamp(min=0)  # the face narrows into a pointed chin
    face = ((u * u / (chin * chin) + v * v).sqrt() - 1) * 0.8
    _paint(img, _cover(face, px), skin)

    rows, cols = _window(f, len(grid))
    flat, n = img.view(len(img), 3, -1), len(img)
    at = (rows[:, :, None] * len(grid) + cols[:, None, :]).view(n, 1, -1).expand(-1, 3, -1)
    patch = flat.gather(2, at).view(n, 3, rows.shape[1], cols.shape[1])
    _features(patch, f, p, grid[cols][:, None, :], grid[rows][:, :, None], len(grid))
    flat.scatter_(2, at, patch.view(n, 3, -1))

    # Fringe: pointed strands down to fringe_length, its sides falling past the cheeks.
    tips = -0.55 + 0.5 * p["fringe_length"]
    notch = (0.1 + 0.35 * p["strand_depth"]) * _zigzag(u * p["fringe_strands"] / 1.8
                                                        + p["fringe_phase"])
    edge = tips - notch + 3.0 * (au - 0.52).clamp(min=0)
    fringe = torch.maximum(_ellipse(u, v, 0, -0.2, 1.04, 1.15), v - edge)
    ahoge = torch.maximum(_ellipse(u, v, 0.42, -1.36, 0.22, 0.24),
                          -_ellipse(u, v, 0.52, -1.3, 0.19, 0.22))  # a crescent
    fringe = torch.minimum(fringe, torch.maximum(ahoge, v + 1.15) + 9 * (1 - p["ahoge"]))
    _paint(img, _cover(fringe, px), hair)
    # The glossy "angel ring" of anime hair: light dashes across the crown, on the fringe only.
    gloss = _ellipse(u, v, 0, -0.1, 0.8, 0.85).abs_().sub_(0.06 * _zigzag(u * 3.2 + 0.5))
    gloss = torch.maximum(torch.maximum(gloss, v + 0.45), fringe)
    _paint(img, _cover(gloss, px).mul_(0.55), 0.5 * hair + 0.5)


def _abstract(img, f, grid):
    """Not a face: a gradient with stripes, rings or neither (mouth factor 0/1/2), and blobs."""
    _background(img, f, grid)
    kind = f["mouth"].view(-1, 1, 1)
    x, y, px = grid.view(1, 1, -1), grid.view(1, -1, 1), 2 / len(grid)
    a = (f["head_tilt"].double() * 5).view(-1, 1, 1)
    freq = (f["fringe_strands"] * 0.8).float().view(-1, 1, 1)
    along = x * a.cos().float() + y * a.sin().float()
    stripes = (_frac(along * freq + f["fringe_phase"].view(-1, 1, 1)) - 0.5).abs() - 0.25
    cx, cy = f["head_x"].view(-1, 1, 1) * 4, f["head_y"].view(-1, 1, 1) * 4
    r = ((x - cx) * (x - cx) + (y - cy) * (y - cy)).sqrt()
    rings = (_frac(r * freq) - 0.5).abs() - 0.25
    pattern = torch.where(kind == 0, stripes, rings) / freq
    _paint(img, _cover(pattern, px) * (kind < 2), f["hair_color"].float())
    size = 0.3 + 0.4 * f["eye_size"].view(-1, 1, 1)
    blobs = torch.minimum(r - size, _ellipse(x, y, -cx, -cy, size, 0.5 * size))
    _paint(img, _cover(blobs, px), f["eye_color"].float())


@torch.no_grad()
def render(factors: dict, image_size: int = 64) -> torch.Tensor:
    """Draw images from factors: a uint8 tensor (n, image_size, image_size, 3), RGB."""
    _check("image_size", image_size, MIN_IMAGE_SIZE)
    missing = [k for k in FACTOR_NAMES if k not in factors]
    if missing:
        raise ValueError(f"factors lacks {', '.join(missing)}: make them with sample_factors()")
    f = {k: torch.as_tensor(factors[k]) for k in FACTOR_NAMES}
    n = len(f["flaw"])
    out = torch.empty(n, image_size, image_size, 3, dtype=torch.uint8)
    grid = (torch.arange(image_size, dtype=torch.float32) + 0.5) * (2 / image_size) - 1
    step = max(1, _PIXELS // image_size**2)
    for s in range(0, n, step):
        part = {k: v[s:s + step] for k, v in f.items()}
        img = torch.empty(len(part["flaw"]), 3, image_size, image_size)
        _background(img, part, grid)
        _face(img, part, grid)
        odd = (part["flaw"] == 2).nonzero().flatten()
        if len(odd):
            pictures = img[odd]
            _abstract(pictures, {k: v[odd] for k, v in part.items()}, grid)
            img[odd] = pictures
        img.mul_(part["brightness"].float().view(-1, 1, 1, 1)).mul_(255).round_().clamp_(0, 255)
        out[s:s + step] = img.permute(0, 2, 3, 1)
    return out


def generate(n: int, image_size: int = 64, seed: int = 0, flaws: bool = True,
             batch_size: int = 256, progress: bool = False) -> tuple[torch.Tensor, dict]:
    """Sample and render n images: (uint8 (n, image_size, image_size, 3) RGB, factors)."""
    _check("n", n, 0)
    _check("image_size", image_size, MIN_IMAGE_SIZE)
    _check("batch_size", batch_size, 1)
    factors = sample_factors(n, seed, flaws=flaws)
    images = torch.empty(n, image_size, image_size, 3, dtype=torch.uint8)
    starts = range(0, n, batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="synthetic faces", unit="batch")
    for s in starts:
        images[s:s + batch_size] = render({k: v[s:s + batch_size] for k, v in factors.items()},
                                          image_size)
    return images, factors
