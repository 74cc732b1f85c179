#version 330
// Sky where nothing is hit: tag Sky (11), depth at the far plane (maximum code).
uniform vec3 u_fwd;     // camera axes in world space
uniform vec3 u_right;
uniform vec3 u_up;
uniform vec3 u_pix;     // W/2, H/2, focal [px]
uniform vec3 u_sun_dir;
uniform vec3 u_sun_rgb;
uniform vec3 u_zenith_rgb;
uniform vec3 u_horizon_rgb;
uniform vec3 u_fog_rgb;
uniform vec4 u_surface;  // wetness, puddles, night, exposure
uniform float u_haze;    // 0..1 how much fog hides the horizon

layout(location = 0) out vec4 o_color;
layout(location = 1) out uvec4 o_label;
layout(location = 2) out uvec4 o_depth;

void main() {
    // gl_FragCoord.y counts image rows from the top (the projection flips y).
    vec2 uv = (gl_FragCoord.xy - u_pix.xy) / u_pix.z;
    vec3 dir = normalize(u_fwd + u_right * uv.x - u_up * uv.y);
    float up = max(dir.z, 0.0);
    vec3 c = mix(u_horizon_rgb, u_zenith_rgb, pow(up, 0.45));
    float sun = max(dot(dir, u_sun_dir), 0.0);
    c += u_sun_rgb * (pow(sun, 900.0) * 8.0 + pow(sun, 12.0) * 0.12);
    c = mix(c, u_fog_rgb, u_haze * exp(-up * 6.0));
    c = vec3(1.0) - exp(-c * u_surface.w);
    c = pow(c, vec3(1.0 / 2.2));
    o_color = vec4(c.b, c.g, c.r, 1.0);
    o_label = uvec4(0u, 0u, 11u, 255u);
    o_depth = uvec4(255u, 255u, 255u, 255u);
}
