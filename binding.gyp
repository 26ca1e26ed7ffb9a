{
  "target_defaults": {
    "defines": ["_GNU_SOURCE"],
    "include_dirs": ["native/wire", "native/init"],
    "cflags_cc": ["-std=c++17", "-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fstack-protector-strong", "-O2"],
    "cflags_cc!": ["-fno-rtti"]
  },
  "targets": [
    # Fails the build when a generated wire file no longer matches
    # native/wire/wire.js. Only the native files are make inputs: an installed
    # package has no lib/ (the check skips it there; rebuilds check it here).
    {
      "target_name": "wire-check",
      "type": "none",
      "actions": [
        {
          "action_name": "check_generated_wire",
          "inputs": [
            "native/wire/wire.js",
            "native/wire/generate.js",
            "native/wire/protocol.gen.h",
            "native/wire/plan_codec.gen.cc"
          ],
          "outputs": ["<(INTERMEDIATE_DIR)/wire-check.stamp"],
          "action": ["node", "native/wire/generate.js", "--check", "--stamp", "<(INTERMEDIATE_DIR)/wire-check.stamp"]
        }
      ]
    },
    {
      "target_name": "berth-init",
      "type": "executable",
      "dependencies": ["wire-check"],
      "sources": [
        "native/init/init_main.cc",
        "native/wire/plan_codec.gen.cc",
        "native/init/child.cc",
        "native/init/child_util.cc",
        "native/init/child_mounts.cc",
        "native/init/child_process.cc",
        "native/init/child_home.cc",
        "native/init/child_overlay.cc",
        "native/init/child_terminal.cc",
        "native/init/child_cgroup.cc",
        "native/init/child_timens.cc",
        "native/init/child_attrs.cc",
        "native/init/child_lsm.cc",
        "native/init/child_seccomp.cc"
      ],
      "ldflags": ["-static", "-s"]
    },
    {
      "target_name": "berth",
      "dependencies": ["berth-init"],
      "actions": [
        {
          "action_name": "embed_berth_init",
          "inputs": ["<(PRODUCT_DIR)/berth-init", "native/addon/embed-init.js"],
          "outputs": ["<(INTERMEDIATE_DIR)/berth_init_blob.S"],
          "action": ["node", "native/addon/embed-init.js", "<(PRODUCT_DIR)/berth-init", "<(INTERMEDIATE_DIR)/berth_init_blob.S"]
        }
      ],
      "sources": [
        "native/addon/addon.cc",
        "native/wire/plan_codec.gen.cc",
        "native/addon/fdops.cc",
        "native/addon/prlimit.cc",
        "native/addon/idmap.cc",
        "native/addon/flock.cc",
        "native/addon/unix_socket.cc",
        "native/addon/spawn.cc",
        "native/addon/init_exec.cc",
        "native/init/child.cc",
        "native/init/child_util.cc",
        "native/init/child_mounts.cc",
        "native/init/child_process.cc",
        "native/init/child_home.cc",
        "native/init/child_overlay.cc",
        "native/init/child_terminal.cc",
        "native/init/child_cgroup.cc",
        "native/init/child_timens.cc",
        "native/init/child_attrs.cc",
        "native/init/child_lsm.cc",
        "native/init/child_seccomp.cc",
        "native/addon/fd_watch.cc",
        "native/addon/pipe_collect.cc",
        "native/addon/remove.cc",
        "native/addon/write_file.cc",
        "native/addon/claim_dir.cc",
        "native/addon/decode_plan.cc",
        "native/addon/bpf_device.cc",
        "native/addon/seccomp_compile.cc",
        "native/addon/seccomp_notify.cc",
        "native/addon/fs_xattr.cc",
        "native/addon/root_files.cc",
        "native/addon/netns.cc",
        "native/addon/netlink.cc",
        "native/addon/nftables.cc",
        "<(INTERMEDIATE_DIR)/berth_init_blob.S"
      ],
      # libseccomp compiles profiles in the addon only (berth-init stays free of
      # it), linked dynamically: libseccomp.so.2 (LGPL-2.1) is the system's, so
      # the .node we ship contains none of it (README, "seccomp").
      # libnftables is not linked: nftables.cc dlopen()s libnftables.so.1 at
      # first use (-ldl: dlopen is in libc only from glibc 2.34).
      "libraries": ["-lseccomp", "-ldl"],
      "include_dirs": ["native/addon", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
