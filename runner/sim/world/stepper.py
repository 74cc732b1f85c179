"""One simulation step: lights, vehicles, attachments, road state, contacts.

The order matters: lights change first, so the light state a vehicle reports this
frame is the one the renderer draws; contacts are found on the final poses.
"""

from __future__ import annotations

from runner import catalog
from runner.sim.profiling import TIMER
from runner.sim.world.actors import Actor, ActorKind, TrafficLight
from runner.sim.world.collisions import find_contacts
from runner.sim.world.episode import PHYSICAL_KINDS, Episode
from runner.sim.world.geometry import BoundingBox, Transform, Vec3
from runner.sim.world.loaded_map import LoadedMap
from runner.sim.world.spawning import world_actor
from runner.sim.world.traffic_lights import TrafficLightController
from runner.sim.world.vehicle_physics import GroundQuery, VehiclePhysics
from runner.sim.world.vehicle_road import RoadState

SPECTATOR_START = Transform(0.0, 0.0, 30.0, -60.0, 0.0, 0.0)
LIGHT_HEAD = BoundingBox((0.0, 0.0, 4.2), (0.25, 0.25, 0.6))
Contact = tuple[int, int, Vec3]


class WorldStepper:
    """Advances an episode's actors; creates the world's own actors on construction."""

    def __init__(self, episode: Episode, loaded_map: LoadedMap) -> None:
        self.episode = episode
        self.map = loaded_map
        self.contacts: list[Contact] = []
        spectator = world_actor(episode.next_id(), "spectator", SPECTATOR_START)
        episode.spectator_id = episode.add(spectator).id
        light_actors = self._spawn_lights()
        self._spawn_signs()
        self.lights = TrafficLightController(
            [a.traffic_light for a in light_actors.values() if a.traffic_light is not None]
        )
        self._light_actors = light_actors
        self.physics = VehiclePhysics(GroundQuery(loaded_map.road_index))
        self.road = RoadState(loaded_map.road_index, loaded_map.lights, light_actors)

    def _spawn_lights(self) -> dict[str, Actor]:
        spec = catalog.WORLD_ACTOR_TYPES["traffic.traffic_light"]
        box = BoundingBox(spec.bbox_center, spec.bbox_extent)
        actors = {}
        for light in self.map.lights:
            record = TrafficLight(light.opendrive_id, light.group_id, light.pole_index)
            actor = world_actor(
                self.episode.next_id(),
                "traffic.traffic_light",
                light.transform,
                box=box,
                semantic_tag=spec.semantic_tag,
                traffic_light=record,
            )
            actors[light.opendrive_id] = self.episode.add(actor)
        return actors

    def _spawn_signs(self) -> None:
        for sign in self.map.signs:
            spec = catalog.WORLD_ACTOR_TYPES.get(sign.type_id)
            actor = world_actor(
                self.episode.next_id(),
                sign.type_id,
                sign.transform,
                box=BoundingBox(spec.bbox_center, spec.bbox_extent) if spec else BoundingBox(),
                semantic_tag=spec.semantic_tag if spec else 8,
                sign_id=sign.opendrive_id,
            )
            self.episode.add(actor)

    def step(self, dt_s: float) -> None:
        self.lights.step(dt_s)
        vehicles = self.episode.of_kind(ActorKind.VEHICLE)
        with TIMER.stage("world.physics"):
            self.physics.step(vehicles, dt_s)
        self.episode.update_attached()
        with TIMER.stage("world.road_state"):
            self.road.update(vehicles)
        with TIMER.stage("world.contacts"):
            found = find_contacts(self.episode.of_kind(*PHYSICAL_KINDS))
        self.contacts = [(c.actor_id, c.other_id, c.normal_impulse) for c in found]

    def forget(self, actor_id: int) -> None:
        self.physics.forget(actor_id)

    # -- traffic-light controls used by the RPC handlers ---------------------------------
    def freeze_lights(self, frozen: bool) -> None:
        self.lights.freeze_all(frozen)

    def reset_all_lights(self) -> None:
        self.lights.reset_all()

    def reset_light_group(self, actor_id: int) -> None:
        light = self.episode.actors[actor_id].traffic_light
        if light is not None:
            self.lights.reset_group(light.group_id)

    def light_group(self, actor_id: int) -> list[int]:
        light = self.episode.actors[actor_id].traffic_light
        if light is None:
            return []
        return [
            a.id
            for a in self._light_actors.values()
            if a.traffic_light is not None and a.traffic_light.group_id == light.group_id
        ]

    def light_boxes(self, actor: Actor) -> list[BoundingBox]:
        """The lamp housing in world coordinates (CARLA returns one box per head)."""
        centre = actor.transform.transform_point(LIGHT_HEAD.center)
        return [BoundingBox(centre, LIGHT_HEAD.extent)]
