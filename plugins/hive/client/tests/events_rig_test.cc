#include "rig_fixture.h"
