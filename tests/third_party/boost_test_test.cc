// Boost.Test (Debian 1.74, shared library) with the JUnit reporter of //tools/boost_test.
#define BOOST_TEST_MODULE boost_test_test
#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <string>

BOOST_AUTO_TEST_CASE(checks_values) { BOOST_TEST(std::string("ab") + "c" == "abc"); }

BOOST_AUTO_TEST_CASE(checks_exceptions) {
  BOOST_CHECK_THROW(throw std::runtime_error("x"), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(xml_report_goes_to_bazel) {
  // Under `bazel test`, //tools/boost_test writes one <testcase> per case to $XML_OUTPUT_FILE.
  const char* xml = std::getenv("XML_OUTPUT_FILE");
  BOOST_TEST((xml == nullptr || *xml != '\0'));
}
