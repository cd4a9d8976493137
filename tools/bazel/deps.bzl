"""Repository macros: the system libraries weft builds on, wrapped for Bazel.

In your own WORKSPACE (after declaring @weft, e.g. with local_repository):

    load("@weft//tools/bazel:deps.bzl", "weft_deps", "weft_toolchain_stubs")
    weft_toolchain_stubs()   # only if you have no @rules_cc/@rules_java of your own
    weft_deps()

Each repository is declared only when the workspace does not have one of that name yet, so a
user who already brings their own @absl or @protobuf keeps it.
"""

# name -> (path on the system, BUILD file in //third_party). The Debian packages that provide
# them are listed in tools/setup.sh.
_SYSTEM_LIBS = {
    "absl": ("/usr", "absl.BUILD"),
    "boost_test": ("/usr", "boost_test.BUILD"),
    "nghttp2": ("/usr", "nghttp2.BUILD"),
    "llhttp": ("/usr/share", "llhttp.BUILD"),
    "protobuf": ("/usr", "protobuf.BUILD"),
    "grpc": ("/usr", "grpc.BUILD"),
    "openssl": ("/usr", "openssl.BUILD"),
    "zlib": ("/usr", "zlib.BUILD"),
    "nlohmann_json": ("/usr", "nlohmann_json.BUILD"),
}

def weft_deps():
    """Declares the Debian-packaged libraries (see tools/setup.sh) as local repositories."""
    for name, (path, build_file) in _SYSTEM_LIBS.items():
        if name not in native.existing_rules():
            native.new_local_repository(
                name = name,
                path = path,
                build_file = "@weft//third_party:" + build_file,
            )

def weft_toolchain_stubs(weft_path = "."):
    """Offline stand-ins for rule sets Bazel 4.2.3 would otherwise download.

    weft_path: where the weft checkout is, relative to the calling workspace ("." inside weft).
    """
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        if name not in native.existing_rules():
            native.local_repository(name = name, path = weft_path + "/third_party/" + name)
