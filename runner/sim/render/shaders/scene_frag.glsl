#version 330
// One geometry pass, three targets: display colour (BGRA), tag + instance id, depth code.
uniform vec3 u_cam_pos;
uniform vec3 u_sun_dir;
uniform vec3 u_sun_rgb;
uniform vec3 u_ambient_rgb;
uniform vec3 u_sky_rgb;
uniform vec3 u_fog_rgb;
uniform vec3 u_fog;      // per metre, start [m], height falloff
uniform vec4 u_surface;  // wetness, puddles, night, exposure
uniform float u_shade;   // 0: labels and depth only (lidar views)

in vec3 v_world;
in vec3 v_normal;
in vec3 v_color;
in float v_depth;
flat in uint v_tag;
flat in uint v_id;
flat in float v_paint;
flat in float v_state;

layout(location = 0) out vec4 o_color;
layout(location = 1) out uvec4 o_label;
layout(location = 2) out uvec4 o_depth;

float hash(vec2 p) {
    return fract(sin(dot(p, vec2(12.9898, 78.233))) * 43758.5453);
}

float puddle_mask(vec2 p) {
    vec2 i = floor(p / 3.0);
    vec2 f = fract(p / 3.0);
    f = f * f * (3.0 - 2.0 * f);
    float a = mix(hash(i), hash(i + vec2(1, 0)), f.x);
    float b = mix(hash(i + vec2(0, 1)), hash(i + vec2(1, 1)), f.x);
    return mix(a, b, f.y);
}

vec3 emissive() {
    if (v_paint > 1.5 && v_paint < 4.5) {
        int lamp = int(v_paint + 0.5) - 2;  // 0 red, 1 yellow, 2 green
        vec3 lit[3] = vec3[3](vec3(4.0, 0.2, 0.1), vec3(4.0, 2.6, 0.2), vec3(0.2, 4.0, 0.8));
        return int(v_state + 0.5) == lamp && v_state > -0.5 ? lit[lamp] : vec3(0.0);
    }
    if (v_paint > 5.5) {  // window bands: some rooms lit at night
        vec2 room = floor(vec2(v_world.x + v_world.y, v_world.z) / vec2(4.0, 3.5));
        return vec3(0.5, 0.4, 0.22) * u_surface.z * step(0.6, hash(room));
    }
    if (v_paint > 4.5) {
        return vec3(3.0, 2.6, 1.8) * u_surface.z;
    }
    return vec3(0.0);
}

vec3 shade(vec3 view_dir) {
    vec3 n = normalize(v_normal);
    if (dot(n, view_dir) < 0.0) n = -n;
    vec3 albedo = v_color;
    bool paved = v_tag == 1u || v_tag == 24u || v_tag == 2u;
    float wet = 0.0;
    if (paved) {
        wet = u_surface.x;
        if (u_surface.y > 0.0) {
            wet += smoothstep(0.55, 0.7, puddle_mask(v_world.xy)) * u_surface.y;
        }
        wet = clamp(wet, 0.0, 1.0);
        albedo *= mix(1.0, 0.3, wet);
    }
    float ndl = max(dot(n, u_sun_dir), 0.0);
    float sky_facing = 0.65 + 0.35 * n.z;
    vec3 c = albedo * (u_ambient_rgb * sky_facing + u_sun_rgb * ndl);
    if (wet > 0.0) {
        vec3 h = normalize(u_sun_dir + view_dir);
        float spec = pow(max(dot(n, h), 0.0), 120.0);
        float fresnel = 0.04 + 0.96 * pow(1.0 - max(dot(n, view_dir), 0.0), 5.0);
        c += wet * (u_sky_rgb * fresnel * 0.4 + u_sun_rgb * spec * 4.0);
    }
    return c + emissive();
}

void main() {
    o_label = uvec4((v_id >> 8) & 255u, v_id & 255u, v_tag, 255u);
    uint code = uint(clamp(v_depth / 1000.0, 0.0, 1.0) * 16777215.0 + 0.5);
    o_depth = uvec4((code >> 16) & 255u, (code >> 8) & 255u, code & 255u, 255u);
    if (u_shade < 0.5) {
        o_color = vec4(0.0);
        return;
    }
    vec3 to_cam = u_cam_pos - v_world;
    float dist = length(to_cam);
    vec3 c = shade(to_cam / max(dist, 1e-4));
    float height = max(v_world.z - u_cam_pos.z, 0.0);
    float fog = 1.0 - exp(-u_fog.x * max(dist - u_fog.y, 0.0) * exp(-u_fog.z * 0.05 * height));
    c = mix(c, u_fog_rgb, clamp(fog, 0.0, 1.0));
    c = vec3(1.0) - exp(-c * u_surface.w);
    c = pow(c, vec3(1.0 / 2.2));
    o_color = vec4(c.b, c.g, c.r, 1.0);
}
