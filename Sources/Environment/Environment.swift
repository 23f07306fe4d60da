import CALE
