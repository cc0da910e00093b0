import LumenIO
