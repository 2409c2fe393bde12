{
  "targets": [
    {
      "target_name": "original_dst",
      "sources": ["original_dst.cc"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
