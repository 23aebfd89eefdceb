x = “q”   
  y = 2
