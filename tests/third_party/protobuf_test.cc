// protobuf 3.21 (Debian): code from the system protoc (//tools/proto) and libprotoc in-process.
#define BOOST_TEST_MODULE protobuf_test
#include <google/protobuf/compiler/command_line_interface.h>
#include <google/protobuf/compiler/cpp/generator.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "smoke.pb.h"

BOOST_AUTO_TEST_CASE(generated_message_round_trips) {
  weft::smoke::Ping ping;
  ping.set_text("hi");
  ping.mutable_sent()->set_seconds(42);
  ping.add_ids(7);
  std::string wire = ping.SerializeAsString();
  weft::smoke::Ping back;
  BOOST_REQUIRE(back.ParseFromString(wire));
  BOOST_TEST(back.text() == "hi");
  BOOST_TEST(back.sent().seconds() == 42);
  BOOST_TEST(back.ids(0) == 7);
  BOOST_TEST(!back.ParseFromString(std::string("\xff\xff\xff", 3)));
}

BOOST_AUTO_TEST_CASE(libprotoc_generates_cpp) {
  namespace fs = std::filesystem;
  const char* tmp = std::getenv("TEST_TMPDIR");
  fs::path out = fs::path(tmp ? tmp : "/tmp") / "protoc_out";
  fs::create_directories(out);
  google::protobuf::compiler::CommandLineInterface cli;
  google::protobuf::compiler::cpp::CppGenerator cpp;
  cli.RegisterGenerator("--cpp_out", &cpp, "C++");
  std::string include = "-Itests/third_party";
  std::string wkt = "-I/usr/include";
  std::string cpp_out = "--cpp_out=" + out.string();
  const char* argv[] = {"protoc", include.c_str(), wkt.c_str(), cpp_out.c_str(), "smoke.proto"};
  BOOST_TEST(cli.Run(5, argv) == 0);
  BOOST_TEST(fs::exists(out / "smoke.pb.h"));
}
