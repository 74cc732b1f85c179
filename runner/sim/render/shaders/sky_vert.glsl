#version 330
// Full-screen triangle.
void main() {
    vec2 p = vec2(float((gl_VertexID & 1) * 4 - 1), float((gl_VertexID & 2) * 2 - 1));
    gl_Position = vec4(p, 1.0, 1.0);  // at the far plane: drawn where nothing else is
}
