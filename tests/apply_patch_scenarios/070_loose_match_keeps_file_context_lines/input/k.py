x = “q”   
  y = 1
