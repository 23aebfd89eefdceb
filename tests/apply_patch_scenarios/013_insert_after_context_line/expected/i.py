import os
import re
import sys

X = 1
