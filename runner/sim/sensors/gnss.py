"""GNSS sensor: the sensor's location as latitude, longitude and altitude.

CARLA 0.9.16 projects with a spherical Mercator approximation anchored at the
map's OpenDRIVE geo-reference (carla-sensors.md 9); north is -Y in CARLA's axes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import msgpack

from runner.sim.sensors.header import sensor_header
from runner.sim.sensors.registry import SensorType
from runner.sim.world.actors import Actor
from runner.sim.world.geometry import Transform, Vec3

EARTH_RADIUS_EQUATORIAL_M = 6378137.0

# (lat0 [deg], lon0 [deg], alt0 [m]) from the map's <geoReference>
GeoReference = tuple[float, float, float]
# (latitude [deg], longitude [deg], altitude [m])
GeoLocation = tuple[float, float, float]


def geolocation(location: Vec3, geo_reference: GeoReference) -> GeoLocation:
    """CARLA's Mercator projection of a world location [m], without noise."""
    lat0, lon0, alt0 = geo_reference
    x, y, z = location
    scale = math.cos(math.radians(lat0))
    radius = EARTH_RADIUS_EQUATORIAL_M * scale
    mercator_x = radius * math.radians(lon0) + x
    mercator_y = radius * math.log(math.tan((90.0 + lat0) * math.pi / 360.0)) - y
    longitude = math.degrees(mercator_x / radius)
    latitude = 360.0 * math.atan(math.exp(mercator_y / radius)) / math.pi - 90.0
    return (latitude, longitude, alt0 + z)


@dataclass(frozen=True, slots=True)
class GnssNoise:
    """Gaussian noise per axis, as the blueprint's `noise_*` attributes give it."""

    lat_bias_deg: float = 0.0
    lat_stddev_deg: float = 0.0
    lon_bias_deg: float = 0.0
    lon_stddev_deg: float = 0.0
    alt_bias_m: float = 0.0
    alt_stddev_m: float = 0.0
    seed: int = 0

    @staticmethod
    def from_actor(actor: Actor) -> GnssNoise:
        def value(name: str) -> float:
            return float(actor.attribute(name, "0"))

        return GnssNoise(
            lat_bias_deg=value("noise_lat_bias"),
            lat_stddev_deg=value("noise_lat_stddev"),
            lon_bias_deg=value("noise_lon_bias"),
            lon_stddev_deg=value("noise_lon_stddev"),
            alt_bias_m=value("noise_alt_bias"),
            alt_stddev_m=value("noise_alt_stddev"),
            seed=int(actor.attribute("noise_seed", "0")),
        )


class GnssSensor:
    """One `sensor.other.gnss`; its noise sequence is fixed by `noise.seed`."""

    def __init__(self, geo_reference: GeoReference, noise: GnssNoise | None = None) -> None:
        self.geo_reference = geo_reference
        self.noise = noise or GnssNoise()
        self._rng = random.Random(self.noise.seed)

    @classmethod
    def from_actor(cls, actor: Actor, geo_reference: GeoReference) -> GnssSensor:
        return cls(geo_reference, GnssNoise.from_actor(actor))

    def read(self, location: Vec3) -> GeoLocation:
        """Noisy geolocation of `location`; draws three samples from the sensor's generator."""
        latitude, longitude, altitude = geolocation(location, self.geo_reference)
        n = self.noise
        return (
            latitude + n.lat_bias_deg + self._rng.gauss(0.0, n.lat_stddev_deg),
            longitude + n.lon_bias_deg + self._rng.gauss(0.0, n.lon_stddev_deg),
            altitude + n.alt_bias_m + self._rng.gauss(0.0, n.alt_stddev_m),
        )

    def measure(self, frame: int, timestamp: float, transform: Transform) -> bytes:
        """Stream payload: header + msgpack [latitude, longitude, altitude] as float64."""
        reading = [float(v) for v in self.read(transform.location)]
        body: bytes = msgpack.packb(reading, use_single_float=False)
        return sensor_header(SensorType.GNSS, frame, timestamp, transform) + body
