#version 330
// Static scene: world-space vertices; each static object carries its own instance id.
uniform mat4 u_view;   // world -> camera, UE axes (x forward, y right, z up)
uniform vec4 u_proj;   // 2f/W, 2f/H, A, B (see camera.Pinhole.clip_uniform)
uniform float u_state; // traffic-light state for lamp paints (-1: all dark)

in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
in float in_tag;
in float in_paint;
in float in_object;  // instance id of the static object (0: ground surfaces)

out vec3 v_world;
out vec3 v_normal;
out vec3 v_color;
out float v_depth;
flat out uint v_tag;
flat out uint v_id;
flat out float v_paint;
flat out float v_state;

void main() {
    vec4 cam = u_view * vec4(in_pos, 1.0);
    gl_Position = vec4(u_proj.x * cam.y, -u_proj.y * cam.z, u_proj.z * cam.x + u_proj.w, cam.x);
    v_world = in_pos;
    v_normal = in_normal;
    v_color = in_color;
    v_depth = cam.x;
    v_tag = uint(in_tag + 0.5);
    v_id = uint(in_object + 0.5);
    v_paint = in_paint;
    v_state = u_state;
}
