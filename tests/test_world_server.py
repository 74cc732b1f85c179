"""World-level calls through the real client: maps, reload, OpenDRIVE worlds, weather."""

from __future__ import annotations

import carla
import pytest

from tests.conftest import require_town


def test_available_maps_list_builtins_and_search_path(client: carla.Client) -> None:
    require_town("Town03")
    maps = client.get_available_maps()
    assert "/Game/Carla/Maps/GridTown" in maps
    assert "/Game/Carla/Maps/Town03" in maps


def test_reload_world_starts_a_new_episode_without_actors(client: carla.Client) -> None:
    world = client.get_world()
    library = world.get_blueprint_library()
    world.spawn_actor(library.find("vehicle.audi.a2"), world.get_map().get_spawn_points()[0])
    reloaded = client.reload_world()
    assert reloaded.id != world.id
    assert not reloaded.get_actors().filter("vehicle.*")
    assert reloaded.get_actors().filter("traffic.traffic_light")  # the map's lights are back


def test_unknown_map_gets_carlas_error(client: carla.Client) -> None:
    with pytest.raises(RuntimeError, match="Map 'Town99' not found"):
        client.load_world("Town99")


def test_generate_opendrive_world_loads_the_text(client: carla.Client) -> None:
    xodr = require_town("Town02").read_text()
    world = client.generate_opendrive_world(xodr)
    assert world.get_map().name.endswith("OpenDriveMap")
    assert len(world.get_map().get_spawn_points()) > 50


def test_weather_round_trips_every_field(client: carla.Client) -> None:
    world = client.get_world()
    world.set_weather(carla.WeatherParameters.HardRainSunset)
    got = world.get_weather()
    assert got.precipitation == pytest.approx(100.0)
    assert got.sun_altitude_angle == pytest.approx(15.0)
    assert got.fog_density == pytest.approx(7.0)


def test_no_rendering_mode_stops_camera_frames(client: carla.Client) -> None:
    import queue

    world = client.load_world("CrossTown")
    settings = world.get_settings()
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    bp = world.get_blueprint_library().find("sensor.camera.depth")
    bp.set_attribute("image_size_x", "64")
    bp.set_attribute("image_size_y", "48")
    camera = world.spawn_actor(bp, carla.Transform(carla.Location(z=5.0)))
    frames: queue.Queue[carla.Image] = queue.Queue()
    camera.listen(frames.put)
    try:
        world.tick()
        assert frames.get(timeout=30).width == 64
        settings.no_rendering_mode = True
        world.apply_settings(settings)
        while not frames.empty():
            frames.get()
        for _ in range(3):
            world.tick()
        assert frames.empty()
    finally:
        camera.stop()
        camera.destroy()


def test_lidar_and_camera_on_one_vehicle(client: carla.Client) -> None:
    import queue

    world = client.load_world("CrossTown")
    settings = world.get_settings()
    settings.synchronous_mode = True
    settings.fixed_delta_seconds = 0.05
    world.apply_settings(settings)
    library = world.get_blueprint_library()
    spot = world.get_map().get_spawn_points()[0]
    car = world.spawn_actor(library.find("vehicle.audi.a2"), spot)
    for _ in range(40):  # spawn points are 0.5 m above the road: let the car settle
        world.tick()
    lidar_bp = library.find("sensor.lidar.ray_cast")
    lidar_bp.set_attribute("range", "50")
    camera_bp = library.find("sensor.camera.depth")
    camera_bp.set_attribute("image_size_x", "64")
    camera_bp.set_attribute("image_size_y", "48")
    mount = carla.Transform(carla.Location(z=2.4))
    sensors = [world.spawn_actor(bp, mount, attach_to=car) for bp in (lidar_bp, camera_bp)]
    data: queue.Queue[carla.SensorData] = queue.Queue()
    for sensor in sensors:
        sensor.listen(data.put)
    try:
        frame = world.tick()
        got = [data.get(timeout=30), data.get(timeout=30)]
        assert {d.frame for d in got} == {frame}
        scan = next(d for d in got if isinstance(d, carla.LidarMeasurement))
        assert len(scan) > 100
        height = sensors[0].get_transform().location.z - (spot.location.z - 0.5)
        below = sorted(p.point.z for p in scan if p.point.z < -1.5)  # the road around the car
        assert below and abs(below[len(below) // 2] + height) < 0.3
    finally:
        for sensor in sensors:
            sensor.stop()
            sensor.destroy()
        car.destroy()
