{
  "targets": [
    {
      "target_name": "berth",
      "sources": [
        "native/addon.cc",
        "native/plan.cc",
        "native/fdops.cc",
        "native/spawn.cc",
        "native/child.cc",
        "native/child_mounts.cc",
        "native/child_process.cc",
        "native/child_terminal.cc",
        "native/child_cgroup.cc",
        "native/fd_watch.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fstack-protector-strong"],
      "cflags_cc!": ["-fno-rtti"]
    }
  ]
}
