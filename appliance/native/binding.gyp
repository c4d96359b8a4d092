{
  "targets": [
    {
      "target_name": "tollgate_native",
      "sources": ["src/tollgate_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-ldl"]
    }
  ]
}
