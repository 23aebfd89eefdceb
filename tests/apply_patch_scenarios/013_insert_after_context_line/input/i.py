import os
import sys

X = 1
