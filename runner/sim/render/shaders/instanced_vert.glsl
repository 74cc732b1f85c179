#version 330
// Dynamic actors: one unit shape drawn for many instances (model matrix per instance).
uniform mat4 u_view;
uniform vec4 u_proj;

in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
in float in_tag;
in float in_paint;
in mat4 i_model;
in vec3 i_color;
in vec3 i_tag_id_state;  // tag, actor id, traffic-light state

out vec3 v_world;
out vec3 v_normal;
out vec3 v_color;
out float v_depth;
flat out uint v_tag;
flat out uint v_id;
flat out float v_paint;
flat out float v_state;

void main() {
    vec4 world = i_model * vec4(in_pos, 1.0);
    vec4 cam = u_view * world;
    gl_Position = vec4(u_proj.x * cam.y, -u_proj.y * cam.z, u_proj.z * cam.x + u_proj.w, cam.x);
    v_world = world.xyz;
    v_normal = normalize(transpose(inverse(mat3(i_model))) * in_normal);
    bool painted = in_paint > 0.5 && in_paint < 1.5;
    v_color = painted ? in_color * i_color : in_color;
    v_depth = cam.x;
    v_tag = in_tag > 0.5 ? uint(in_tag + 0.5) : uint(i_tag_id_state.x + 0.5);
    v_id = uint(i_tag_id_state.y + 0.5);
    v_paint = in_paint;
    v_state = i_tag_id_state.z;
}
