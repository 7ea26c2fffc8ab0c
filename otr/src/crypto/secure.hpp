// Forwarding header: the secret-holding types are public now (otr/secure.hpp).
#pragma once

#include "otr/secure.hpp"
