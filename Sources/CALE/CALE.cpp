#include "CALE.h"
