{
  "target_defaults": {
    "defines": ["_GNU_SOURCE"],
    "cflags_cc": ["-std=c++17", "-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fstack-protector-strong", "-O2"],
    "cflags_cc!": ["-fno-rtti"]
  },
  "targets": [
    {
      "target_name": "berth-init",
      "type": "executable",
      "sources": [
        "native/init_main.cc",
        "native/plan_codec.cc",
        "native/child.cc",
        "native/child_mounts.cc",
        "native/child_process.cc",
        "native/child_terminal.cc",
        "native/child_cgroup.cc"
      ],
      "ldflags": ["-static", "-s"]
    },
    {
      "target_name": "berth",
      "dependencies": ["berth-init"],
      "actions": [
        {
          "action_name": "embed_berth_init",
          "inputs": ["<(PRODUCT_DIR)/berth-init", "native/embed-init.js"],
          "outputs": ["<(INTERMEDIATE_DIR)/berth_init_blob.S"],
          "action": ["node", "native/embed-init.js", "<(PRODUCT_DIR)/berth-init", "<(INTERMEDIATE_DIR)/berth_init_blob.S"]
        }
      ],
      "sources": [
        "native/addon.cc",
        "native/plan_codec.cc",
        "native/fdops.cc",
        "native/spawn.cc",
        "native/init_exec.cc",
        "native/child.cc",
        "native/child_mounts.cc",
        "native/child_process.cc",
        "native/child_terminal.cc",
        "native/child_cgroup.cc",
        "native/fd_watch.cc",
        "native/pipe_collect.cc",
        "native/remove.cc",
        "native/write_file.cc",
        "<(INTERMEDIATE_DIR)/berth_init_blob.S"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
