{
  "targets": [
    {
      "target_name": "skiff_native",
      "sources": ["skiff_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
